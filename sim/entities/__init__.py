"""What things are: plain state of sites, workforces, suppliers, lots, labs, lanes, hubs and channels."""
