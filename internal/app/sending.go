package app

// wireSending wires the scheduling saga and the sender (issue 5): scheduler and sender components, dispatch module, attempts projector.
func wireSending(a *App) error {
	_ = a
	return nil
}
