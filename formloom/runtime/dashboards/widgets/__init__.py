"""One module per kind of widget; `formloom.runtime.dashboards` registers them."""
