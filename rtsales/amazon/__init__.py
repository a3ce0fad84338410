"""SP-API access: Login with Amazon, the Reports API 2021-06-30, and the sales document parser."""
