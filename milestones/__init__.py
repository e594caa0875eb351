"""The five milestone programs and what they share (the gate, the command line, data)."""
