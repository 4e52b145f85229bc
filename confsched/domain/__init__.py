"""The pure core: plain data in, decisions out; standard library only, no clock, no I/O."""
