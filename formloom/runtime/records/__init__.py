"""Records: the service every page, API call, import and automation goes through."""
