"""What the tiers of tests share: hall helpers (helpers), the city broker and PKI (city),
the engine on a test clock (engine_harness)."""
