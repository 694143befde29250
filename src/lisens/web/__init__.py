"""What the two HTTP surfaces share, the API (`lisens.api`) and the panel (`lisens.admin`): a unit of work
per request and the limit on failed authentications. Neither surface imports the other."""
