"""一件事一次办: bundles of items applied for with one form and one set of materials."""
