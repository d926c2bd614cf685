"""Stage 1, the core: plain data (the model), errors, quantities and Fargate size arithmetic.

Pure functions over plain data; imports nothing else of ours, reads and writes nothing."""
