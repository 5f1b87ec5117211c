// The bare vocabulary terms of the EPCIS 2.0 JSON-LD context
// (https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld) and the URIs they stand for.
// Specs/event-hash.md, "Vocabulary terms".

/// A closed set of bare terms that expand to `prefix + term`.
struct Vocabulary: Sendable {
    let prefix: String
    let terms: Set<String>

    /// `prefix + text` if `text` is one of the terms; nil otherwise.
    func expand(_ text: String) -> String? {
        terms.contains(text) ? prefix + text : nil
    }

    static let bizStep = Vocabulary(prefix: "https://ref.gs1.org/cbv/BizStep-", terms: [
        "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
        "creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying", "disassembling",
        "dispensing", "encoding", "entering_exiting", "holding", "inspecting", "installing", "killing", "loading",
        "other", "packing", "picking", "receiving", "removing", "repackaging", "repairing", "replacing", "reserving",
        "retail_selling", "sampling", "sensor_reporting", "shipping", "staging_outbound", "stock_taking", "stocking",
        "storing", "transporting", "unloading", "unpacking", "void_shipping",
    ])

    static let disposition = Vocabulary(prefix: "https://ref.gs1.org/cbv/Disp-", terms: [
        "active", "available", "completeness_verified", "completeness_inferred", "conformant", "container_closed",
        "container_open", "damaged", "destroyed", "dispensed", "disposed", "encoded", "expired", "in_progress",
        "in_transit", "inactive", "mismatch_instance", "mismatch_class", "mismatch_quantity", "needs_replacement",
        "no_pedigree_match", "non_conformant", "non_sellable_other", "partially_dispensed", "recalled", "reserved",
        "retail_sold", "returned", "sellable_accessible", "sellable_not_accessible", "stolen", "unavailable",
        "unknown",
    ])

    static let bizTransactionType = Vocabulary(prefix: "https://ref.gs1.org/cbv/BTT-", terms: [
        "bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma", "testprd", "testres",
        "upevt",
    ])

    static let sourceDestinationType = Vocabulary(prefix: "https://ref.gs1.org/cbv/SDT-", terms: [
        "owning_party", "possessing_party", "location",
    ])

    static let component = Vocabulary(prefix: "https://ref.gs1.org/cbv/Comp-", terms: [
        "x", "y", "z", "axial_distance", "azimuth", "height", "spherical_radius", "polar_angle", "elevation_angle",
        "easting", "northing", "latitude", "longitude", "altitude",
    ])

    static let measurementType = Vocabulary(prefix: "https://gs1.org/voc/", terms: [
        "AbsoluteHumidity", "AbsorbedDose", "AbsorbedDoseRate", "Acceleration", "Radioactivity", "Altitude",
        "AmountOfSubstance", "AmountOfSubstancePerUnitVolume", "Angle", "AngularAcceleration", "AngularMomentum",
        "AngularVelocity", "Area", "Capacitance", "Conductance", "Conductivity", "Count", "Density", "Dimensionless",
        "DoseEquivalent", "DoseEquivalentRate", "DynamicViscosity", "ElectricCharge", "ElectricCurrent",
        "ElectricCurrentDensity", "ElectricFieldStrength", "Energy", "Exposure", "Force", "Frequency", "Illuminance",
        "Inductance", "Irradiance", "KinematicViscosity", "Length", "LinearMomentum", "Luminance", "LuminousFlux",
        "LuminousIntensity", "MagneticFlux", "MagneticFluxDensity", "MagneticVectorPotential", "Mass",
        "MassConcentration", "MassFlowRate", "MassPerAreaTime", "MemoryCapacity", "MolalityOfSolute", "MolarEnergy",
        "MolarMass", "MolarVolume", "Power", "Pressure", "RadiantFlux", "RadiantIntensity", "RelativeHumidity",
        "Resistance", "Resistivity", "SolidAngle", "SpecificVolume", "Speed", "SurfaceDensity", "SurfaceTension",
        "Temperature", "Time", "Torque", "Voltage", "Volume", "VolumeFlowRate", "VolumeFraction", "VolumetricFlux",
        "Wavenumber",
    ])

    static let sensorException = Vocabulary(prefix: "https://gs1.org/voc/", terms: ["ALARM_CONDITION", "ERROR_CONDITION"])

    /// The vocabulary of member `key` of an object named `parent` (the event itself is `event`).
    static func of(key: String, parent: String) -> Vocabulary? {
        switch (parent, key) {
        case ("event", "bizStep"): return .bizStep
        case ("event", "disposition"), ("persistentDisposition", "set"), ("persistentDisposition", "unset"):
            return .disposition
        case ("bizTransaction", "type"): return .bizTransactionType
        case ("source", "type"), ("destination", "type"): return .sourceDestinationType
        case ("sensorReport", "type"): return .measurementType
        case ("sensorReport", "exception"): return .sensorException
        case ("sensorReport", "component"): return .component
        default: return nil
        }
    }
}
