// Images: see README "Architecture".
