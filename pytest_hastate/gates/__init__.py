"""The static gates: contract rules C01-C12, package rules P01-P16."""
