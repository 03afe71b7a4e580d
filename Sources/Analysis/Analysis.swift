// Analysis: see README "Architecture".
