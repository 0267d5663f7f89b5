"""The register's Qt app: views, presenters, and the bridge to the lane's asyncio loop."""
