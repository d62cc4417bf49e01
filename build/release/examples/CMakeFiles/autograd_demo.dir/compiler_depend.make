# Empty compiler generated dependencies file for autograd_demo.
# This may be replaced when dependencies are built.
