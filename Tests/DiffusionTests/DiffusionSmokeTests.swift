import Testing
import Diffusion
