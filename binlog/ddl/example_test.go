package ddl_test

import (
	"context"
	"fmt"

	"github.com/dm-oss/dm/binlog/ddl"
)

// Reading a binlog's DDL: what it is and which tables it is about, also for the MariaDB forms
// the TiDB parser rejects.
func ExampleParse() {
	st := ddl.Parse("CREATE OR REPLACE TABLE orders (id INT PRIMARY KEY, ip INET6)", "shop")
	fmt.Println(st.Kind, st.Tables, st.Rewrite != nil)
	// Output: create table [`shop`.`orders`] true
}

// Rendering it for a target: routed, IF NOT EXISTS, the upstream's collation made explicit,
// and the form each target flavour reads.
func ExampleStatement_Render() {
	st := ddl.Parse("CREATE TABLE orders (id INT PRIMARY KEY, doc LONGTEXT CHECK (json_valid(doc)))", "shop")
	for _, flavor := range []string{ddl.FlavorMariaDB, ddl.FlavorTiDB} {
		out, err := st.Render(context.Background(), ddl.Render{
			Flavor:   flavor,
			Charsets: upstreamDefaults{},
			RouteTable: func(n ddl.TableName) ddl.TableName {
				return ddl.TableName{Schema: "merged", Table: n.Table}
			},
			IfExists: true,
		})
		fmt.Println(out, err)
	}
	// Output:
	// [CREATE TABLE IF NOT EXISTS `merged`.`orders` (`id` INT PRIMARY KEY,`doc` LONGTEXT CHECK(JSON_VALID(`doc`)) ) DEFAULT CHARACTER SET = UTF8MB4 DEFAULT COLLATE = UTF8MB4_GENERAL_CI] <nil>
	// [CREATE TABLE IF NOT EXISTS `merged`.`orders` (`id` INT PRIMARY KEY,`doc` JSON) DEFAULT CHARACTER SET = UTF8MB4 DEFAULT COLLATE = UTF8MB4_GENERAL_CI] <nil>
}

// upstreamDefaults answers like a MariaDB whose databases default to utf8mb4_general_ci.
type upstreamDefaults struct{}

func (upstreamDefaults) DatabaseDefault(context.Context, string) (string, string, error) {
	return "utf8mb4", "utf8mb4_general_ci", nil
}

func (upstreamDefaults) TableDefault(context.Context, string, string) (string, string, error) {
	return "utf8mb4", "utf8mb4_general_ci", nil
}

func (upstreamDefaults) DefaultCollation(_ context.Context, cs string) (string, error) {
	return ddl.MariaDBDefaultCollation(cs), nil
}
