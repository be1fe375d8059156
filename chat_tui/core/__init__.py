"""Plain dataclasses and logic with no I/O and no project imports."""
