"""The 24-hour self-service zone (智能门禁认证系统): its rules (pure, `rules`) and the hall's
keeper of its doors (`keeper`)."""
