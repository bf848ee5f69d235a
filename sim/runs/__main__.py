"""`python -m sim.runs SPECS.pkl OUT_DIR [--simulate module:function]`: see `sim.runs.driver.main`."""

from sim.runs.driver import main

raise SystemExit(main())
