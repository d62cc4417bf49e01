# Empty compiler generated dependencies file for minigrad_tests.
# This may be replaced when dependencies are built.
