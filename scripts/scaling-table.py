#!/usr/bin/env python3
"""Predicted data-parallel step time and efficiency of `ddpm train` on N nodes (README, "Scaling").

Model (strong scaling: the global batch B stays the same, each of N nodes computes B/N examples):
  compute   t_c(N) = t_fixed + ceil(B/N) * t_example       (measured on one node, see --help)
  all-reduce (ring, Open MPI's large-message algorithm): each rank sends and receives 2(N-1)/N * S
            bytes in 2(N-1) steps:  t_ar(N) = 2(N-1) * (alpha + S / (N * bandwidth))
  step      after backward:   t = t_c + t_ar
            overlapped:       t = t_c_forward + max(t_c_backward, t_ar), backward = 2/3 of t_c
            (DDP-style buckets; the bound when the network keeps up with the backward pass)
  efficiency = t(1) / (N * t(N)), with t(1) = t_c(1) (no communication).
bandwidth = line rate * efficiency_of_link (default 0.8: TCP and MPI framing); alpha = 20 us per
ring step (a TCP round on a LAN). S = parameters * 4 bytes (Float32 gradients).
Usage: scripts/scaling-table.py --fashion T_EXAMPLE T_FIXED --cifar10 T_EXAMPLE T_FIXED
       [--link-efficiency 0.8] [--alpha-us 20]
T_EXAMPLE and T_FIXED (seconds) are the slope and intercept of `ddpm bench --mode train` step times
at two batch sizes on one node (README: fashion 0.0311 0.063, cifar10 0.0873 0.411).
"""
import argparse
import math

# The presets and the global batch of their recipes (README: Fashion-MNIST 64, DDPM's CIFAR-10 128).
MODELS = {
    # name: (parameters, global batch)
    "fashion": (6_469_889, 64),
    "cifar10": (35_746_307, 128),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--link-efficiency", type=float, default=0.8)
    parser.add_argument("--alpha-us", type=float, default=20.0)
    parser.add_argument("--fashion", type=float, nargs=2, metavar=("PER_EXAMPLE_S", "FIXED_S"), required=True)
    parser.add_argument("--cifar10", type=float, nargs=2, metavar=("PER_EXAMPLE_S", "FIXED_S"), required=True)
    args = parser.parse_args()
    measured = {"fashion": args.fashion, "cifar10": args.cifar10}
    alpha = args.alpha_us * 1e-6
    links = [10, 25, 100]
    nodes = [1, 2, 4, 8, 16, 32, 64]
    for name, (parameters, batch) in MODELS.items():
        per_example, fixed = measured[name]
        size = parameters * 4
        print(f"\n{name}: {parameters:,} parameters, gradients {size / 1e6:.1f} MB, global batch {batch}, "
              f"t_example {per_example * 1e3:.1f} ms, t_fixed {fixed * 1e3:.0f} ms")
        print("| N | examples per node | compute s | all-reduce s at " + " / ".join(f"{g}" for g in links)
              + " Gb/s | step s (efficiency) at " + " / ".join(f"{g}" for g in links) + " Gb/s | overlapped at "
              + f"{links[0]} Gb/s |")
        print("|---|---|---|---|---|---|")
        t1 = fixed + batch * per_example
        for n in nodes:
            share = math.ceil(batch / n)
            compute = fixed + share * per_example
            reduces, steps = [], []
            for gbit in links:
                bandwidth = gbit * 1e9 / 8 * args.link_efficiency
                ar = 0.0 if n == 1 else 2 * (n - 1) * (alpha + size / (n * bandwidth))
                reduces.append(f"{ar:.3f}")
                steps.append(f"{compute + ar:.2f} ({t1 / (n * (compute + ar)):.0%})")
            bandwidth = links[0] * 1e9 / 8 * args.link_efficiency
            ar = 0.0 if n == 1 else 2 * (n - 1) * (alpha + size / (n * bandwidth))
            backward = (compute - fixed) * 2 / 3
            overlapped = (compute - backward) + max(backward, ar)
            print(f"| {n} | {share} | {compute:.2f} | " + " / ".join(reduces) + " | " + " / ".join(steps)
                  + f" | {overlapped:.2f} ({t1 / (n * overlapped):.0%}) |")

if __name__ == "__main__":
    main()
