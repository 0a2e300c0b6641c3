"""Administrative-unit boundaries: import, repair, simplify and serve them for maps."""
