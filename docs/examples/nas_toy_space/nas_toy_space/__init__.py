"""A toy search space for nas: three strided conv stages, each with a searchable kernel and width."""
