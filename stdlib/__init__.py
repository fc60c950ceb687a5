"""The standard library: modules written in vdsl itself, loaded by `use`."""
