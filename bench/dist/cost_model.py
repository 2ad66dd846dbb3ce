"""Paper cost model of data-parallel training (docs/DISTRIBUTED.md): ring-allreduce time of the
fp32 gradients per step at several link speeds, against a measured compute time per step, and the
scaling efficiency that predicts for 2..64 machines (weak scaling: each machine keeps its batch).

    python3 bench/dist/cost_model.py --params 99.9e6 --compute 3.8 0.24 [--overlap 0.66]

--compute is the measured seconds per training step of one machine (forward + backward +
optimizer); --overlap the fraction of it during which buckets can already be reduced (the
backward pass is about two thirds of a step).
"""
import argparse

ap = argparse.ArgumentParser()
ap.add_argument("--params", type=float, default=99.9e6)
ap.add_argument("--compute", type=float, nargs="+", required=True,
                help="seconds per step on one machine (several values: one table each)")
ap.add_argument("--overlap", type=float, default=2 / 3)
ap.add_argument("--efficiency", type=float, default=0.85, help="share of line rate a ring reaches")
a = ap.parse_args()

grad_bytes = 4 * a.params
machines = [2, 4, 8, 16, 32, 64]
for compute in a.compute:
    print(f"gradients {grad_bytes / 1e6:.0f} MB per step, compute {compute:.3f} s per step, "
          f"links at {a.efficiency:.0%} of line rate, allreduce overlapped with {a.overlap:.0%} of a step\n")
    print("| link | " + " | ".join(f"N = {n}" for n in machines) + " |")
    print("|---|" + "---|" * len(machines))
    for gbit in (10, 25, 100):
        rate = gbit / 8 * 1e9 * a.efficiency
        cells = []
        for n in machines:
            t = 2 * (n - 1) / n * grad_bytes / rate
            exposed = max(0.0, t - a.overlap * compute)
            cells.append(f"{t:.2f} s, {compute / (compute + exposed):.0%}")
        print(f"| {gbit} Gb/s | " + " | ".join(cells) + " |")
    print("\ncells: allreduce time per step, scaling efficiency (compute / (compute + exposed communication))")
