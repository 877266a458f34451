// Release-mode benchmarks of the tensor kernels. Run with `make bench`.
import Tensors

print("TensorBenchmarks")
