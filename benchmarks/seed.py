"""The worked example f(x1, x2) = log x1 + x1·x2 − sin x2 at (2, 5), in the three spellings the
benchmarks time: dualdiff's functions, numpy's (dispatched to dualdiff), and plain floats."""

import math

import numpy as np

import dualdiff as dd

SEED_X = [2.0, 5.0]
SEED_TARGET = 40.0


def seed_dd(x):
    x1, x2 = x
    return dd.log(x1) + x1 * x2 - dd.sin(x2)


def seed_np(x):
    x1, x2 = x
    return np.log(x1) + x1 * x2 - np.sin(x2)


def seed_math(x):
    x1, x2 = x
    return math.log(x1) + x1 * x2 - math.sin(x2)
