// The Datasets module.
