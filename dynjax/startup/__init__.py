"""Start-up speed-ups of the command line: a straight-line Threefry lowering on CPU (`threefry`) and lazy
stand-ins for modules gymnax imports but training never uses (`lazy_imports`)."""
