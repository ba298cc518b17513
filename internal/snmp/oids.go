package snmp

// builtin names the standard objects every device is polled for. Debian
// does not ship the IETF MIB files (IF-MIB, SNMPv2-MIB…), so vigie carries
// their numbers itself; MIB files loaded at start add to this table.
var builtin = map[string]string{
	// Registration tree (SNMPv2-SMI), roots for MIB files.
	"ccitt": "0", "iso": "1", "joint-iso-ccitt": "2", "zeroDotZero": "0.0",
	"org": "1.3", "dod": "1.3.6", "internet": "1.3.6.1", "directory": "1.3.6.1.1",
	"mgmt": "1.3.6.1.2", "mib-2": "1.3.6.1.2.1", "transmission": "1.3.6.1.2.1.10",
	"experimental": "1.3.6.1.3", "private": "1.3.6.1.4", "enterprises": "1.3.6.1.4.1",
	"security": "1.3.6.1.5", "snmpV2": "1.3.6.1.6", "snmpDomains": "1.3.6.1.6.1",
	"snmpProxys": "1.3.6.1.6.2", "snmpModules": "1.3.6.1.6.3",

	// SNMPv2-MIB system group.
	"system": "1.3.6.1.2.1.1", "sysDescr": "1.3.6.1.2.1.1.1", "sysObjectID": "1.3.6.1.2.1.1.2",
	"sysUpTime": "1.3.6.1.2.1.1.3", "sysContact": "1.3.6.1.2.1.1.4", "sysName": "1.3.6.1.2.1.1.5",
	"sysLocation": "1.3.6.1.2.1.1.6", "sysServices": "1.3.6.1.2.1.1.7",
	"snmp": "1.3.6.1.2.1.11", "snmpInPkts": "1.3.6.1.2.1.11.1", "snmpInBadCommunityNames": "1.3.6.1.2.1.11.4",
	"snmpTrapOID": "1.3.6.1.6.3.1.1.4.1",

	// IF-MIB interfaces group and ifTable.
	"interfaces": "1.3.6.1.2.1.2", "ifNumber": "1.3.6.1.2.1.2.1",
	"ifTable": "1.3.6.1.2.1.2.2", "ifEntry": "1.3.6.1.2.1.2.2.1",
	"ifIndex": "1.3.6.1.2.1.2.2.1.1", "ifDescr": "1.3.6.1.2.1.2.2.1.2", "ifType": "1.3.6.1.2.1.2.2.1.3",
	"ifMtu": "1.3.6.1.2.1.2.2.1.4", "ifSpeed": "1.3.6.1.2.1.2.2.1.5", "ifPhysAddress": "1.3.6.1.2.1.2.2.1.6",
	"ifAdminStatus": "1.3.6.1.2.1.2.2.1.7", "ifOperStatus": "1.3.6.1.2.1.2.2.1.8",
	"ifLastChange": "1.3.6.1.2.1.2.2.1.9", "ifInOctets": "1.3.6.1.2.1.2.2.1.10",
	"ifInUcastPkts": "1.3.6.1.2.1.2.2.1.11", "ifInNUcastPkts": "1.3.6.1.2.1.2.2.1.12",
	"ifInDiscards": "1.3.6.1.2.1.2.2.1.13", "ifInErrors": "1.3.6.1.2.1.2.2.1.14",
	"ifInUnknownProtos": "1.3.6.1.2.1.2.2.1.15", "ifOutOctets": "1.3.6.1.2.1.2.2.1.16",
	"ifOutUcastPkts": "1.3.6.1.2.1.2.2.1.17", "ifOutNUcastPkts": "1.3.6.1.2.1.2.2.1.18",
	"ifOutDiscards": "1.3.6.1.2.1.2.2.1.19", "ifOutErrors": "1.3.6.1.2.1.2.2.1.20",
	"ifOutQLen": "1.3.6.1.2.1.2.2.1.21", "ifSpecific": "1.3.6.1.2.1.2.2.1.22",

	// IF-MIB ifXTable.
	"ifMIB": "1.3.6.1.2.1.31", "ifXTable": "1.3.6.1.2.1.31.1.1", "ifXEntry": "1.3.6.1.2.1.31.1.1.1",
	"ifName": "1.3.6.1.2.1.31.1.1.1.1", "ifInMulticastPkts": "1.3.6.1.2.1.31.1.1.1.2",
	"ifInBroadcastPkts": "1.3.6.1.2.1.31.1.1.1.3", "ifOutMulticastPkts": "1.3.6.1.2.1.31.1.1.1.4",
	"ifOutBroadcastPkts": "1.3.6.1.2.1.31.1.1.1.5", "ifHCInOctets": "1.3.6.1.2.1.31.1.1.1.6",
	"ifHCInUcastPkts": "1.3.6.1.2.1.31.1.1.1.7", "ifHCInMulticastPkts": "1.3.6.1.2.1.31.1.1.1.8",
	"ifHCInBroadcastPkts": "1.3.6.1.2.1.31.1.1.1.9", "ifHCOutOctets": "1.3.6.1.2.1.31.1.1.1.10",
	"ifHCOutUcastPkts": "1.3.6.1.2.1.31.1.1.1.11", "ifHCOutMulticastPkts": "1.3.6.1.2.1.31.1.1.1.12",
	"ifHCOutBroadcastPkts": "1.3.6.1.2.1.31.1.1.1.13", "ifLinkUpDownTrapEnable": "1.3.6.1.2.1.31.1.1.1.14",
	"ifHighSpeed": "1.3.6.1.2.1.31.1.1.1.15", "ifPromiscuousMode": "1.3.6.1.2.1.31.1.1.1.16",
	"ifConnectorPresent": "1.3.6.1.2.1.31.1.1.1.17", "ifAlias": "1.3.6.1.2.1.31.1.1.1.18",
	"ifCounterDiscontinuityTime": "1.3.6.1.2.1.31.1.1.1.19",

	// HOST-RESOURCES-MIB.
	"host": "1.3.6.1.2.1.25", "hrSystemUptime": "1.3.6.1.2.1.25.1.1", "hrSystemNumUsers": "1.3.6.1.2.1.25.1.5",
	"hrSystemProcesses": "1.3.6.1.2.1.25.1.6", "hrMemorySize": "1.3.6.1.2.1.25.2.2",
	"hrStorageTable": "1.3.6.1.2.1.25.2.3", "hrStorageEntry": "1.3.6.1.2.1.25.2.3.1",
	"hrStorageIndex": "1.3.6.1.2.1.25.2.3.1.1", "hrStorageType": "1.3.6.1.2.1.25.2.3.1.2",
	"hrStorageDescr": "1.3.6.1.2.1.25.2.3.1.3", "hrStorageAllocationUnits": "1.3.6.1.2.1.25.2.3.1.4",
	"hrStorageSize": "1.3.6.1.2.1.25.2.3.1.5", "hrStorageUsed": "1.3.6.1.2.1.25.2.3.1.6",
	"hrStorageAllocationFailures": "1.3.6.1.2.1.25.2.3.1.7",
	"hrProcessorTable":            "1.3.6.1.2.1.25.3.3", "hrProcessorEntry": "1.3.6.1.2.1.25.3.3.1",
	"hrProcessorFrwID": "1.3.6.1.2.1.25.3.3.1.1", "hrProcessorLoad": "1.3.6.1.2.1.25.3.3.1.2",

	// UCD-SNMP-MIB (net-snmp's agent on Linux).
	"ucdavis": "1.3.6.1.4.1.2021", "memory": "1.3.6.1.4.1.2021.4",
	"memIndex": "1.3.6.1.4.1.2021.4.1", "memErrorName": "1.3.6.1.4.1.2021.4.2",
	"memTotalSwap": "1.3.6.1.4.1.2021.4.3", "memAvailSwap": "1.3.6.1.4.1.2021.4.4",
	"memTotalReal": "1.3.6.1.4.1.2021.4.5", "memAvailReal": "1.3.6.1.4.1.2021.4.6",
	"memTotalFree": "1.3.6.1.4.1.2021.4.11", "memMinimumSwap": "1.3.6.1.4.1.2021.4.12",
	"memShared": "1.3.6.1.4.1.2021.4.13", "memBuffer": "1.3.6.1.4.1.2021.4.14",
	"memCached": "1.3.6.1.4.1.2021.4.15",
	"dskTable":  "1.3.6.1.4.1.2021.9", "dskEntry": "1.3.6.1.4.1.2021.9.1",
	"dskIndex": "1.3.6.1.4.1.2021.9.1.1", "dskPath": "1.3.6.1.4.1.2021.9.1.2",
	"dskDevice": "1.3.6.1.4.1.2021.9.1.3", "dskMinimum": "1.3.6.1.4.1.2021.9.1.4",
	"dskMinPercent": "1.3.6.1.4.1.2021.9.1.5", "dskTotal": "1.3.6.1.4.1.2021.9.1.6",
	"dskAvail": "1.3.6.1.4.1.2021.9.1.7", "dskUsed": "1.3.6.1.4.1.2021.9.1.8",
	"dskPercent": "1.3.6.1.4.1.2021.9.1.9", "dskPercentNode": "1.3.6.1.4.1.2021.9.1.10",
	"laTable": "1.3.6.1.4.1.2021.10", "laEntry": "1.3.6.1.4.1.2021.10.1",
	"laIndex": "1.3.6.1.4.1.2021.10.1.1", "laNames": "1.3.6.1.4.1.2021.10.1.2",
	"laLoad": "1.3.6.1.4.1.2021.10.1.3", "laConfig": "1.3.6.1.4.1.2021.10.1.4",
	"laLoadInt": "1.3.6.1.4.1.2021.10.1.5", "laLoadFloat": "1.3.6.1.4.1.2021.10.1.6",
	"systemStats": "1.3.6.1.4.1.2021.11", "ssCpuUser": "1.3.6.1.4.1.2021.11.9",
	"ssCpuSystem": "1.3.6.1.4.1.2021.11.10", "ssCpuIdle": "1.3.6.1.4.1.2021.11.11",
	"ssCpuRawUser": "1.3.6.1.4.1.2021.11.50", "ssCpuRawNice": "1.3.6.1.4.1.2021.11.51",
	"ssCpuRawSystem": "1.3.6.1.4.1.2021.11.52", "ssCpuRawIdle": "1.3.6.1.4.1.2021.11.53",

	// ENTITY-MIB and ENTITY-SENSOR-MIB (temperatures, fans, voltages).
	"entPhysicalDescr": "1.3.6.1.2.1.47.1.1.1.1.2", "entPhysicalName": "1.3.6.1.2.1.47.1.1.1.1.7",
	"entitySensorMIB": "1.3.6.1.2.1.99", "entPhySensorTable": "1.3.6.1.2.1.99.1.1",
	"entPhySensorEntry": "1.3.6.1.2.1.99.1.1.1", "entPhySensorType": "1.3.6.1.2.1.99.1.1.1.1",
	"entPhySensorScale": "1.3.6.1.2.1.99.1.1.1.2", "entPhySensorPrecision": "1.3.6.1.2.1.99.1.1.1.3",
	"entPhySensorValue": "1.3.6.1.2.1.99.1.1.1.4", "entPhySensorOperStatus": "1.3.6.1.2.1.99.1.1.1.5",
	"entPhySensorUnitsDisplay": "1.3.6.1.2.1.99.1.1.1.6", "entPhySensorValueTimeStamp": "1.3.6.1.2.1.99.1.1.1.7",
	"entPhySensorValueUpdateRate": "1.3.6.1.2.1.99.1.1.1.8",

	// SNMP-FRAMEWORK-MIB and SNMP-USER-BASED-SM-MIB counters.
	"snmpEngineID": "1.3.6.1.6.3.10.2.1.1", "snmpEngineBoots": "1.3.6.1.6.3.10.2.1.2",
	"snmpEngineTime":       "1.3.6.1.6.3.10.2.1.3",
	"usmStatsWrongDigests": "1.3.6.1.6.3.15.1.1.5",
}
