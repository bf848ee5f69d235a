"""Defaults per site kind, as plain values (sources in docs/sources.md; every value is overridable per
scenario with `archetypes.<kind>.<field>`, per site with `sites.<name>.ceiling`, ... or per cohort with
`learning`). Efficiency is measured against the standard time of a skilled sewer (docs/sources.md:
1.7–2.5 min/mask).

Plain data with no import, so that both the config's checks (sim.config) and the model's typed table
(sim.entities.archetypes) can read it without importing each other.
"""

from __future__ import annotations

ARCHETYPE_DEFAULTS: dict[str, dict[str, float]] = {
    # Textile SMEs: skilled sewers, only the new pattern to learn. ceiling 1.0 by definition of the
    # standard time; first mask 10 min and rate 0.85 are assumptions (sewers who know the machines).
    "textile": dict(ceiling=1.0, first_mask_min=10.0, wright_rate=0.85,
                    defect_trainee=0.04, defect_skilled=0.01),
    # Industrial plants switching lines: line workers new to sewing but in a divided, engineered process.
    # ceiling 0.9, first mask 45 min, rate 0.75, defects: assumptions.
    "industrial": dict(ceiling=0.9, first_mask_min=45.0, wright_rate=0.75,
                       defect_trainee=0.06, defect_skilled=0.015),
    # Entreprises adaptées: workers above a third of an ordinary worker's capacity (placement rule, H);
    # ceiling 0.5-0.8 (GUESS) -> 0.65. First mask 90 min and rate 0.70 as novices (docs/sources.md, M).
    "adapted": dict(ceiling=0.65, first_mask_min=90.0, wright_rate=0.70,
                    defect_trainee=0.10, defect_skilled=0.03),
    # Entreprises d'insertion: people returning to work, ordinary capacity once trained. ceiling 0.8
    # (assumption), novice learning curve from docs/sources.md (90 min first mask, rate 0.70, M).
    "insertion": dict(ceiling=0.8, first_mask_min=90.0, wright_rate=0.70,
                      defect_trainee=0.10, defect_skilled=0.03),
    # ESAT: capacity below a third of an ordinary worker's (placement rule, H); ceiling 0.2-0.5 (GUESS).
    # 0.2 matches the 25-40 masks per person per day of whole sites (docs/sources.md, M).
    "esat": dict(ceiling=0.2, first_mask_min=120.0, wright_rate=0.70, absenteeism_factor=1.2,
                 defect_trainee=0.12, defect_skilled=0.04),
    # Prison workshops: ~40 masks per person per day on 7 h (docs/sources.md, H) = 0.2 of a 2.1 min standard.
    "prison": dict(ceiling=0.2, first_mask_min=90.0, wright_rate=0.70, absenteeism_factor=0.5,
                   defect_trainee=0.10, defect_skilled=0.03),
    # Volunteers sewing at home or in community rooms from kits handed out at a pick-up point (one site per
    # pick-up point, its volunteers the cohort, docs/model.md "Volunteers"). Novices: first mask about 90 min,
    # 30-40 min after some practice (docs/sources.md, M: reported of volunteers), hence rate 0.70 as the other
    # novices. Domestic machines and no supervisor at hand: ceiling 0.5, defects 15 % then 5 %, and a higher
    # absence (people giving their free time drop out more): assumptions.
    "volunteer": dict(ceiling=0.5, first_mask_min=90.0, wright_rate=0.70, absenteeism_factor=1.5,
                      defect_trainee=0.15, defect_skilled=0.05),
    # Packaging sites (often ESATs): packing is simpler work; values are assumptions.
    "packaging": dict(ceiling=0.6, first_mask_min=2.0, wright_rate=0.85,
                      defect_trainee=0.0, defect_skilled=0.0),
    # Hubs do not produce; the archetype exists so every kind has one.
    "hub": dict(ceiling=1.0, first_mask_min=1.0, wright_rate=1.0, defect_trainee=0.0, defect_skilled=0.0),
}
