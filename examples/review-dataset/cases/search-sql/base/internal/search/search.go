package search

import "database/sql"

type Product struct {
	ID   int
	Name string
}

func ByID(db *sql.DB, id int) (*Product, error) {
	row := db.QueryRow("SELECT id, name FROM products WHERE id = $1", id)
	var p Product
	if err := row.Scan(&p.ID, &p.Name); err != nil {
		return nil, err
	}
	return &p, nil
}
