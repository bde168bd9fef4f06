package identity

// provinces holds the first two digits a GB 11643 region code may start
// with: the GB/T 2260 provinces, autonomous regions and municipalities, plus
// 71 Taiwan, 81 Hong Kong, 82 Macao (residence permits), 83 Taiwan residence
// permits and 91 (foreigners' permanent residence, old series).
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true, "91": true,
}

// ValidProvince reports whether code (two digits) is a province code an id
// number may start with.
func ValidProvince(code string) bool { return provinces[code] }
