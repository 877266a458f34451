// The NeuralNetworks module.
