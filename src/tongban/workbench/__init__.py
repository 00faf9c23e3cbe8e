"""Staff workbench (工作台): queues with traffic lights, the case page and its actions."""
