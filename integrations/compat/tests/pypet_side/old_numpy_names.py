"""Let pypet before 0.6 run on numpy 1.26: put back the aliases numpy 1.24 removed.

pypet 0.5 still says ``np.int``, ``np.bool`` ...; the test scripts import
this module before pypet so that one script serves every pypet version.
"""

import numpy as np

for _name, _type in (("int", int), ("float", float), ("bool", bool), ("complex", complex),
                     ("str", str), ("object", object), ("unicode", str), ("long", int)):
    if _name not in np.__dict__:
        setattr(np, _name, _type)
