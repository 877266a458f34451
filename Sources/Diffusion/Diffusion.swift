// The Gaussian diffusion math of DDPM and Improved DDPM.
import Tensors
