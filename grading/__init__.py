"""The TinyTorch autograder: `python -m grading --help`."""
