#!/usr/bin/env python3
"""store_floor.py - the least any lossless encoding can spend on the store
budget's histograms (tests/bench/store_budget.c's fleet and traffic).

    tests/bench/store_floor.py [SIGMA]

A point's histogram at resolution r holds the counts of its buckets. With
the requests of a period a Poisson number and each latency drawn from the
same distribution, the bucket counts are independent Poisson variables of
means n * p_i (n the mean requests of the period, p_i the bucket's
probability), so the entropy of the histogram, the bits no code can go
below even knowing the distribution exactly, is the sum of the Poisson
entropies H(n * p_i). The store's predictive code (store_codec.c) learns
the distribution from the chunk's earlier points, so it can only be above
this floor.

The distribution is the bench's: 99% lognormal (median 20 ms, SIGMA), 1%
lognormal near 400 ms (sigma 0.3); the bucket width at shift s is
2^s * ln(1.01 / 0.99) in log space (src/core/histogram.h), averaged over
where the distribution's centre falls in a bucket. The rates and accuracies
are the fleet's: a target group 100 requests a second at 1% (1 s, 60 s) and
2% (300 s, 3600 s), a target 10 a second at 4% (60 s) and 8% (300 s,
3600 s), as store_hist_shift() collapses them. Points per series at each
resolution as store_budget.c's ladder_points.
"""
import math
import sys

LADDER = {1: 10860, 60: 21720, 300: 14112, 3600: 9432}
BASE = math.log(1.01 / 0.99)


def poisson_entropy(lam):
    """bits of a Poisson variable of mean LAM"""
    if lam <= 0:
        return 0.0
    if lam > 200:
        return 0.5 * math.log2(2 * math.pi * math.e * lam) - 1 / (12 * lam * math.log(2))
    h, lp, k = 0.0, -lam, 0
    while k < lam + 30 * math.sqrt(lam) + 30:
        p = math.exp(lp)
        if p > 0:
            h -= p * lp
        k += 1
        lp += math.log(lam / k)
    return h / math.log(2)


def ncdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def cdf(lnx, sigma):
    return 0.99 * ncdf((lnx - math.log(0.02)) / sigma) + 0.01 * ncdf((lnx - math.log(0.4)) / 0.3)


def floor_bytes(n, shift, sigma, phases=8):
    """bytes of the entropy of a histogram of N mean samples at SHIFT"""
    w = BASE * (1 << shift)
    lo, hi = math.log(0.02) - 8 * sigma, math.log(0.4) + 8 * 0.3
    total = 0.0
    for ph in range(phases):
        x = lo - w * ph / phases
        bits = 0.0
        while x < hi:
            bits += poisson_entropy(n * (cdf(x + w, sigma) - cdf(x, sigma)))
            x += w
        total += bits
    return total / phases / 8


def main():
    sigma = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    classes = [
        ("target group (101 series, 100/s)", 101, 100.0, {1: 0, 60: 0, 300: 1, 3600: 1}),
        ("target (1,000 series, 10/s)", 1000, 10.0, {60: 2, 300: 3, 3600: 3}),
    ]
    print(f"SIGMA {sigma}: the entropy of the histogram counts, bytes a point")
    grand = 0.0
    for name, nseries, rate, shifts in classes:
        per_series = 0.0
        cells = []
        for r in (1, 60, 300, 3600):
            if r not in shifts:
                cells.append(f"{r} s: -")
                continue
            b = floor_bytes(rate * r, shifts[r], sigma)
            per_series += b * LADDER[r]
            cells.append(f"{r} s: {b:.1f}")
        fleet = per_series * nseries / 1e6
        grand += fleet
        print(f"  {name}: " + ", ".join(cells) + f"; {per_series / 1e6:.2f} MB a series, {fleet:.0f} MB")
    print(f"histograms of the fleet at the floor: {grand:.0f} MB")


if __name__ == "__main__":
    main()
