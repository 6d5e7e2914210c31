"""The CRM: contact profiles of the ERP's customers and CRM-only leads, served over HTTP."""
