"""Stage 8, the command line: argument parsing, one handler per command, rendering (rich, JSON).

May import every stage."""
