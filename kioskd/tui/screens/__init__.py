"""One screen per module; each renders from the app's latest data (DiagApp.data)."""
