"""Reading and writing the operator's documents and the evidence."""
