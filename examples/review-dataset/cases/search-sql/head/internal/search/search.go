package search

import (
	"database/sql"
	"fmt"
)

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

// ByName finds products whose name contains the query.
func ByName(db *sql.DB, query string) ([]Product, error) {
	rows, err := db.Query(fmt.Sprintf("SELECT id, name FROM products WHERE name LIKE '%%%s%%'", query))
	if err != nil {
		return nil, err
	}
	var out []Product
	for rows.Next() {
		var p Product
		if err := rows.Scan(&p.ID, &p.Name); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
