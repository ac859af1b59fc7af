"""The torch-free core: genotype, space declaration, cost accounting, cost target and the op registry."""
