"""Risk control: rules that hold an order's commissions on review until ops decide."""
