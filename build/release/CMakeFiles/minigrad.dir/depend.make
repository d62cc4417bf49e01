# Empty dependencies file for minigrad.
# This may be replaced when dependencies are built.
