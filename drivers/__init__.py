"""Device drivers: a pure codec plus an async driver per device type (installed as kioskd.drivers)."""
