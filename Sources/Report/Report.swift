// Report: see README "Architecture".
