"""The E-utilities client: one request = pace (pacing), send (transport), classify and retry
(retry), parse (parse*, results). Start from `harvester.eutils.client.EutilsClient`."""
