"""Hand-written industrial-maintenance passages and technician-style queries for the bundled sample dataset.

Original text written for edge-embed, released under CC0-1.0. Each entry: (title, passage, query). Queries use
the shorthand technicians type (DE/NDE, VFD, LOTO, alarm codes), which a generic model knows less well than the
passage wording: the gap finetuning is meant to close."""

ENTRIES = [
    # Centrifugal pumps
    (
        "Centrifugal pump cavitation",
        "Cavitation in a centrifugal pump sounds like gravel passing through the casing. It happens when the net positive suction head available falls below the NPSH required: check for a clogged suction strainer, a partly closed suction valve or a low tank level before changing the impeller.",
        "pump sounds like gravel in casing",
    ),
    (
        "Pump running dry protection",
        "A pump that runs dry overheats its mechanical seal within seconds. Fit a dry-run protection relay that trips the motor on low motor power or a low-level switch in the suction tank, and never start the pump until the casing is primed and vented.",
        "how to stop pump burning seal when tank empty",
    ),
    (
        "Priming a self-priming pump",
        "Before the first start, fill the casing of a self-priming pump through the priming plug until water flows from the vent. After that the pump keeps enough liquid in the casing to re-prime itself, as long as the suction line has no air leaks.",
        "first start self priming pump fill casing",
    ),
    (
        "Impeller wear ring clearance",
        "Worn wear rings let liquid recirculate from discharge back to suction, so flow and head fall while power stays the same. Replace the rings when the diametral clearance exceeds twice the value in the pump data sheet, typically 0.3 to 0.5 mm for small process pumps.",
        "pump losing head wear ring gap limit",
    ),
    (
        "Pump shaft alignment",
        "Misalignment between pump and motor shafts is the most common cause of coupling and bearing failure. Align with a laser or dial indicators after the baseplate is grouted and the piping is connected, and aim for less than 0.05 mm offset and 0.05 mm per 100 mm angularity.",
        "laser alignment tolerance pump motor coupling",
    ),
    (
        "Soft foot check",
        "Soft foot is a motor or pump foot that does not sit flat on the base. Loosen one hold-down bolt at a time with a dial indicator on the foot; if the foot lifts more than 0.05 mm, add stainless shims under it before aligning the shafts.",
        "motor foot lifts when bolt loosened",
    ),
    (
        "Pump discharge pressure low",
        "Low discharge pressure with normal motor current usually points to a worn impeller or wear rings; low pressure with low current points to a suction restriction or air entrainment. Compare the readings with the pump curve at the measured flow.",
        "P-101 low discharge pressure amps normal",
    ),
    (
        "Pump vibration at vane pass",
        "A vibration peak at the number of impeller vanes times running speed is vane pass frequency. It grows when the impeller is too close to the cutwater or when the pump runs far from its best efficiency point.",
        "vibration peak at blades times rpm on pump",
    ),
    (
        "Pump minimum flow",
        "Running a centrifugal pump below its minimum continuous flow heats the liquid and causes suction recirculation. Install a minimum flow bypass line with an orifice back to the suction tank when the process can throttle the pump down.",
        "pump overheating at low flow bypass",
    ),
    (
        "Pump casing drain and vent",
        "Before opening a pump casing, isolate suction and discharge valves, lock them, then open the drain and vent to release trapped pressure. Hot or toxic liquids must be drained to a closed system, not to the floor.",
        "depressurise pump before opening casing",
    ),
    # Mechanical seals
    (
        "Mechanical seal leakage limit",
        "A new single mechanical seal should be practically leak-free. Replace it when leakage exceeds about 20 drops per minute or when crystals build up on the atmospheric side, which shows the faces are opening.",
        "mech seal dripping how many drops ok",
    ),
    (
        "Seal flush plan 11",
        "API plan 11 takes liquid from the pump discharge through an orifice into the seal chamber. It keeps the seal faces cool and flushes out solids; a blocked orifice is a frequent cause of a seal running hot.",
        "api plan 11 orifice blocked seal hot",
    ),
    (
        "Seal face damage patterns",
        "Heat checking, small radial cracks on a carbide seal face, comes from running without lubrication. Chipped edges on the carbon face point to vibration or a sudden pressure reversal. Keep the failed faces for the root cause review.",
        "cracks on seal face after dry running",
    ),
    (
        "Installing a cartridge seal",
        "Slide the cartridge seal over the shaft with the setting clips in place, tighten the gland nuts evenly, then tighten the drive collar set screws. Remove the setting clips only after the collar is tight, and keep them for the next removal.",
        "cartridge seal setting clips when remove",
    ),
    (
        "Double seal barrier pressure",
        "A pressurised double seal needs barrier fluid at least 1.5 bar above the seal chamber pressure. A falling level in the barrier pot means the inboard or outboard seal is leaking; a rising level means process liquid is getting into the barrier.",
        "barrier pot level rising double seal",
    ),
    (
        "Packing gland adjustment",
        "Compression packing must leak slightly to stay cool: about 40 to 60 drops per minute. Tighten the gland nuts a sixth of a turn at a time with the pump running and wait ten minutes between adjustments.",
        "stuffing box leaking tighten gland how much",
    ),
    (
        "Seal chamber venting",
        "Vertical pumps trap air in the seal chamber, and the upper seal then runs dry. Vent the seal chamber through the flush connection after every fill and fit an automatic vent where the pump is restarted often.",
        "vertical pump seal dry air trapped",
    ),
    (
        "Magnetic drive pump",
        "A magnetic drive pump has no shaft seal: a magnet coupling drives the impeller through a containment shell. If the pump runs dry or the coupling decouples, the sleeve bearings are damaged within minutes, so fit a power monitor.",
        "sealless pump magnets slipping",
    ),
    (
        "Seal spring compression",
        "Most single spring seals need a set working length. Measure from the seal chamber face to a scribed mark on the shaft, then set the seal collar so the spring is compressed to the length on the seal drawing.",
        "setting working length component seal",
    ),
    (
        "Seal O-ring compatibility",
        "Elastomer O-rings in a seal must suit the process liquid and temperature: FKM for hydrocarbons up to about 200 C, EPDM for hot water and steam, FFKM for aggressive chemicals. Swollen or hardened O-rings show a wrong choice.",
        "which o ring material hot water seal",
    ),
    # Rolling bearings
    (
        "Bearing relubrication interval",
        "Relubricate rolling bearings based on speed, size and temperature: a 6310 bearing at 3000 rpm typically needs about 15 g of grease every 2000 running hours. Halve the interval for every 15 C above 70 C bearing temperature.",
        "how often grease 6310 bearing",
    ),
    (
        "Bearing overgreasing",
        "Too much grease makes a bearing run hot because the rolling elements churn it. After regreasing, run the machine with the drain plug open for 30 minutes so excess grease can escape; temperature should fall back within a few hours.",
        "DE brg temp high after regrease",
    ),
    (
        "Bearing temperature alarm",
        "Set the bearing temperature alarm about 15 C above the normal running temperature and the trip at 95 to 100 C for standard greased bearings. A sudden rise is more significant than a steady high value.",
        "bearing RTD alarm setpoint",
    ),
    (
        "Bearing defect frequencies",
        "Outer race defects show in the vibration spectrum at BPFO, inner race defects at BPFI with running speed sidebands, and ball defects at twice BSF. Envelope or demodulated spectra show them earlier than velocity spectra.",
        "BPFO peak in envelope spectrum meaning",
    ),
    (
        "Fitting a bearing with heat",
        "Mount bearings with an induction heater, never with a flame. Heat the inner ring to about 80 to 90 C above the shaft temperature, slide it on against the shoulder, and hold it until it grips as it cools.",
        "induction heater bearing mounting temperature",
    ),
    (
        "Bearing false brinelling",
        "Machines that stand still next to running equipment can develop false brinelling: shallow marks at ball spacing on the raceway caused by vibration. Rotate standby pumps and fans by hand weekly to prevent it.",
        "standby pump bearing marks from vibration",
    ),
    (
        "Bearing current damage",
        "Motors on a frequency converter can pass shaft currents through the bearings, leaving a washboard pattern called fluting. Use an insulated NDE bearing or a shaft grounding ring on motors above about 100 kW.",
        "fluting marks VFD motor bearing",
    ),
    (
        "Bearing clearance class",
        "C3 bearings have more internal clearance than normal class and suit electric motors and fans whose inner ring runs hotter than the outer. Replacing a C3 bearing with a CN one can make it run hot and fail early.",
        "C3 vs CN bearing motor replacement",
    ),
    (
        "Grease compatibility",
        "Mixing greases with incompatible thickeners, such as lithium complex and polyurea, can soften the mixture until it runs out of the bearing. When changing grease type, purge the old grease completely.",
        "can I mix lithium and polyurea grease",
    ),
    (
        "Bearing storage",
        "Store bearings flat in their original packaging in a dry room. Do not wash off the preservative before mounting; it is compatible with common greases and oils.",
        "wash new bearing before fitting?",
    ),
    # Gearboxes
    (
        "Gearbox oil change interval",
        "Change mineral gear oil after 10000 operating hours or two years, and synthetic oil after 20000 hours, whichever comes first. Take an oil sample every 3 months: iron above 100 ppm or water above 500 ppm calls for action.",
        "gearbox oil change hours synthetic",
    ),
    (
        "Gearbox oil viscosity",
        "Choose gear oil viscosity from the pitch line speed and the operating temperature: ISO VG 220 or 320 for most industrial helical gearboxes at 40 to 70 C. Too thin an oil causes micropitting on the tooth flanks.",
        "which VG oil helical gearbox",
    ),
    (
        "Gear mesh frequency",
        "Gear mesh frequency is the number of teeth times the shaft speed. Sidebands around it spaced at a shaft speed point to an eccentric or cracked gear on that shaft.",
        "sidebands around GMF meaning",
    ),
    (
        "Gearbox breather",
        "A blocked breather lets pressure build up when the gearbox warms, pushing oil past the shaft seals. Use a desiccant breather in humid or dusty areas and replace it when the silica gel changes colour.",
        "gearbox leaking oil at seals breather",
    ),
    (
        "Gearbox running hot",
        "A gearbox running hot may have too much oil, which churns, too little, or the wrong viscosity. Check the level with the gearbox stopped and cold, and check that the cooling fan cover is not blocked by dirt.",
        "reducer overheating oil level check",
    ),
    (
        "Tooth contact pattern",
        "Check gear alignment by painting a few teeth with marking blue and turning the gears under light load. The contact should cover most of the face width in the middle of the tooth; contact at one end shows misalignment.",
        "blue marking gear teeth check",
    ),
    (
        "Worm gear wear",
        "Worm wheels are bronze and wear faster than the steel worm. Bronze particles in the oil are normal in small amounts; increasing backlash at the output shaft shows the wheel needs replacing.",
        "worm gear backlash growing bronze in oil",
    ),
    (
        "Gearbox oil sampling",
        "Take oil samples from the same point each time, with the gearbox running or within 30 minutes of stopping, from a sampling valve rather than the drain plug, where sludge collects.",
        "where take oil sample gearbox",
    ),
    (
        "Backstop on conveyor drives",
        "An inclined conveyor gearbox needs a backstop that stops the belt running back when the drive stops. Check the backstop during every major shutdown and never run the motor in reverse to test it.",
        "holdback conveyor gearbox check",
    ),
    (
        "Gearbox first oil change",
        "Drain the first fill of a new gearbox after 500 running hours; it holds the wear particles of running in. Flush with the same oil grade before the refill.",
        "new reducer first oil change when",
    ),
    # Electric motors
    (
        "Motor insulation resistance test",
        "Measure the insulation resistance of a low-voltage motor with a 500 V or 1000 V megohmmeter between the windings and earth. Below 1 megohm the winding must be dried or rewound before energising.",
        "megger test motor minimum value",
    ),
    (
        "Polarisation index",
        "The polarisation index is the ratio of the insulation resistance after 10 minutes to the value after 1 minute. A PI below 2 shows moisture or contaminated insulation on larger motors.",
        "PI test 10 min 1 min ratio",
    ),
    (
        "Motor running hot",
        "A motor runs hot when it is overloaded, when one phase is missing, when the supply voltage is unbalanced or when its cooling fins and fan cover are blocked. Measure the current in all three phases.",
        "motor casing very hot check what",
    ),
    (
        "Phase imbalance",
        "A voltage imbalance of 2 percent between phases can raise the current imbalance to 10 to 20 percent and overheat the winding. Check the supply and connections before blaming the motor.",
        "current different on each phase motor",
    ),
    (
        "Motor thermal protection",
        "PTC thermistors in the windings trip the motor through a relay when the winding temperature exceeds the insulation class. Do not bridge a tripped thermistor relay: find out why the winding overheated.",
        "thermistor relay tripped motor",
    ),
    (
        "Motor starts too often",
        "Each direct-on-line start heats the rotor. Limit starts per hour to the number in the motor data, typically 3 to 6 for medium motors, and space them evenly.",
        "how many starts per hour motor",
    ),
    (
        "Motor terminal box",
        "Moisture in the terminal box causes tracking and earth faults. Seal cable glands properly, keep the box cover gasket intact, and open the condensation drain holes on motors that stand outdoors.",
        "water inside motor terminal box",
    ),
    (
        "Star-delta starter",
        "A star-delta starter reduces the starting current to about one third by starting the motor in star and switching to delta at about 80 percent of speed. Set the changeover timer long enough for the motor to accelerate.",
        "star delta timer setting",
    ),
    (
        "Motor earth fault",
        "An earth fault trip on a motor feeder needs an insulation test of the cable and motor separately before reclosing. Disconnect the cable at the motor terminals to find which part has failed.",
        "motor feeder earth fault trip what to check",
    ),
    (
        "Anti-condensation heaters",
        "Large motors that stand idle have anti-condensation heaters that switch on when the motor stops. Check they work before the cold season; a winding that is cold and damp will fail an insulation test.",
        "motor space heater not working",
    ),
    # Frequency converters
    (
        "VFD overcurrent fault",
        "An overcurrent trip on a frequency converter at start usually means too short an acceleration ramp, a mechanically blocked load or a short in the motor cable. Lengthen the ramp and check the motor turns freely.",
        "VFD OC trip on start",
    ),
    (
        "VFD DC bus overvoltage",
        "Overvoltage on the DC bus during deceleration means the motor is regenerating energy faster than the drive can absorb it. Extend the deceleration ramp, enable the overvoltage controller or add a braking resistor.",
        "drive trips overvoltage when stopping",
    ),
    (
        "VFD cooling",
        "Frequency converters derate above 40 C ambient. Clean the heat sink and cabinet filters every six months and check the cabinet fans; a drive that trips on overtemperature in summer usually has dirty filters.",
        "inverter overtemperature in summer",
    ),
    (
        "Motor cable length",
        "Long motor cables between drive and motor cause voltage peaks at the motor terminals. Above about 50 m of unshielded or 100 m of shielded cable, fit a dv/dt filter or sine filter.",
        "long cable between VFD and motor filter",
    ),
    (
        "VFD parameter backup",
        "Save the drive parameters to the control panel or a laptop after commissioning and after every change. A replaced control board can then be restored in minutes instead of re-tuning.",
        "backup inverter settings",
    ),
    (
        "Motor identification run",
        "Run the motor identification, also called autotune, after connecting a new motor to a drive in vector control. The drive measures the stator resistance and inductances it needs for good torque control.",
        "autotune drive new motor",
    ),
    (
        "VFD earth leakage",
        "Frequency converters leak high-frequency current to earth through cable capacitance. Use type B residual current devices rated for drives, or the RCD may trip when the drive starts.",
        "RCD tripping when drive runs",
    ),
    (
        "Drive DC bus capacitors",
        "The electrolytic capacitors in a drive age, especially if it is stored without power. Reform the capacitors by applying voltage gradually before energising a drive that has been in storage for more than a year.",
        "spare drive stored 2 years before use",
    ),
    (
        "Skip frequencies",
        "If a fan or pump resonates at some speed, set skip frequency bands in the drive so it passes through those speeds quickly instead of running at them.",
        "fan vibrates at certain hz",
    ),
    (
        "Drive safe torque off",
        "Safe torque off removes power to the motor through the drive's safety inputs without disconnecting the supply. It is not isolation: the DC bus stays charged, so follow lockout before working on the motor or cable.",
        "STO enough to work on motor?",
    ),
    # PLC alarms and controls
    (
        "PLC alarm E-4711 encoder signal lost",
        "Alarm E-4711 means the controller lost the encoder signal on an axis. Check the encoder cable and connector for damage, the shield connection at the drive, and the encoder supply voltage of 24 V before replacing the encoder.",
        "E-4711 axis 2 encoder fault",
    ),
    (
        "PLC alarm E-2031 low air pressure",
        "Alarm E-2031 is raised when the main air pressure falls below 5 bar for more than 3 seconds. Pneumatic clamps may then release: check the compressor, the main filter regulator and leaks at quick couplings.",
        "E2031 air pressure alarm",
    ),
    (
        "PLC alarm E-1102 door interlock open",
        "Alarm E-1102 shows that a guard door safety switch is open. The machine cannot restart until all doors are closed and the safety circuit is reset with the blue reset button.",
        "machine won't start E1102 guard",
    ),
    (
        "PLC battery replacement",
        "Replace the PLC backup battery with the controller powered on, so the retentive memory is kept. If it must be done with power off, do it within the time in the controller manual, usually a few minutes.",
        "change PLC battery without losing program",
    ),
    (
        "PLC input not changing",
        "When a PLC input stays off although the sensor works, check the input LED on the card. If the LED is on but the program shows off, check the I/O configuration and forces; if the LED is off, check wiring and fuse.",
        "sensor ok but plc input stays 0",
    ),
    (
        "Analog input 4-20 mA fault",
        "A 4 to 20 mA input reading below 3.8 mA means a broken wire or failed transmitter; above 20.5 mA means a short or transmitter fault. Configure the input to raise a fault instead of using the value.",
        "analog 4-20 reading 0 wire break",
    ),
    (
        "Emergency stop reset",
        "After an emergency stop, release the mushroom button by twisting it, then press the reset on the safety relay. The machine must not restart by itself; a separate start command is needed.",
        "how to reset e-stop",
    ),
    (
        "PLC program backup",
        "Keep a backup of every PLC program version with the date and the reason for the change. Compare the online program with the backup before making changes, to catch undocumented edits.",
        "save plc program versions",
    ),
    (
        "Fieldbus communication fault",
        "A Profinet or EtherCAT communication fault to a remote I/O station is usually a loose connector, a damaged cable or a failed switch port. The diagnostic buffer of the controller names the station that dropped out.",
        "remote IO station lost profinet",
    ),
    (
        "Alarm flood handling",
        "During an alarm flood, acknowledge and fix the first alarm in time order: later alarms are often consequences. Configure alarm suppression for expected consequential alarms.",
        "hundreds of alarms which first",
    ),
    # Compressors and pneumatics
    (
        "Compressor condensate drain",
        "Compressed air condensate collects in the receiver, after the aftercooler and in filters. Automatic drains must be tested weekly; a stuck drain sends water into the air network and the pneumatic valves.",
        "water in air lines compressor drain",
    ),
    (
        "Screw compressor oil carry-over",
        "Oil in the compressed air from an oil-injected screw compressor means a failed separator element, a blocked scavenge line or an oil level that is too high.",
        "oil in compressed air screw compressor",
    ),
    (
        "Compressor high discharge temperature",
        "A screw compressor trips on high discharge temperature when the oil cooler is dirty, the oil level is low or the thermostatic valve is stuck. Clean the cooler fins with air from the inside out.",
        "compressor trip high temperature",
    ),
    (
        "Air leak survey",
        "Air leaks often waste 20 to 30 percent of compressor output. Survey with an ultrasonic detector during a weekend when the plant is quiet, tag each leak, and fix the largest first.",
        "find compressed air leaks",
    ),
    (
        "Air filter differential pressure",
        "Replace compressed air filter elements when the differential pressure indicator reaches the red zone, usually 0.35 bar, or at least once a year.",
        "air filter dp indicator red",
    ),
    (
        "Pneumatic cylinder slow",
        "A cylinder that moves slowly may have a flow control valve turned down, a leaking piston seal or too small a supply line. Check the pressure at the cylinder port while it moves.",
        "air cylinder moves slow",
    ),
    (
        "Safety valve on air receiver",
        "The safety valve on an air receiver must be tested by lifting the lever once a month with the receiver under pressure, and checked by a competent person at the interval set by local rules.",
        "receiver relief valve test",
    ),
    (
        "Compressor inlet filter",
        "A blocked inlet filter lowers compressor output and raises energy use. Change it at the service interval, more often in dusty areas, and never run the compressor without it.",
        "compressor intake filter change",
    ),
    (
        "Refrigerated dryer",
        "A refrigerated dryer cools air to a dew point of about 3 C so water condenses out. If water appears downstream, check the dryer's condensate drain and that the condenser is not blocked.",
        "water after air dryer",
    ),
    (
        "Pneumatic valve sticking",
        "Solenoid valves stick when oil varnish or water builds up inside. Install proper filtration and dry air; lubricated air must be lubricated all the time once started.",
        "solenoid valve sticking air",
    ),
    # Hydraulics
    (
        "Hydraulic oil contamination",
        "Most hydraulic failures come from contaminated oil. Keep the oil at ISO 4406 cleanliness 17/15/12 or better for servo valves, and use filter carts when filling a system.",
        "hydraulic oil cleanliness target",
    ),
    (
        "Hydraulic pump noise",
        "A hydraulic pump that whines or rattles is usually cavitating because of a clogged suction strainer, cold thick oil or an air leak on the suction side.",
        "hydraulic pump whining noise",
    ),
    (
        "Hydraulic accumulator precharge",
        "Check the nitrogen precharge of a bladder accumulator with the hydraulic pressure released. Precharge is typically 90 percent of the minimum working pressure; use only nitrogen, never air or oxygen.",
        "accumulator precharge check",
    ),
    (
        "Hydraulic oil overheating",
        "Hydraulic oil should run between 40 and 60 C. Above 70 C it oxidises quickly; check the cooler, the relief valve setting, and whether a valve is bypassing oil to tank under pressure.",
        "hydraulic oil temp 75",
    ),
    (
        "Hydraulic hose replacement",
        "Replace hydraulic hoses at signs of cracking, blistering or leaks at the fitting, and at the age given by the manufacturer. Never search for a pinhole leak with your hand: injected oil causes serious injury.",
        "hydraulic hose pinhole leak",
    ),
    (
        "Relief valve setting",
        "Set the system relief valve 10 to 15 percent above the maximum working pressure. A relief valve set too low wastes energy as heat.",
        "hydraulic relief setting",
    ),
    (
        "Hydraulic cylinder drift",
        "A cylinder that drifts under load has a leaking piston seal or a leaking control valve. Block the cylinder ports: if it still drifts, the seal is at fault.",
        "hydraulic cylinder creeping down",
    ),
    (
        "Hydraulic filter bypass",
        "When a filter element is blocked, its bypass valve opens and unfiltered oil circulates. Replace elements when the clogging indicator trips, not on a fixed date.",
        "hydraulic filter indicator tripped",
    ),
    (
        "Water in hydraulic oil",
        "Milky hydraulic oil contains water. Above about 0.1 percent water, dry the oil with a vacuum dehydrator or replace it, and find the source: a cooler leak or a breather without desiccant.",
        "hydraulic oil milky",
    ),
    (
        "Hydraulic system bleeding",
        "After replacing a hydraulic component, bleed the air by cycling the actuators slowly at low pressure several times, with the tank breather open.",
        "air in hydraulic system after repair",
    ),
    # Conveyors
    (
        "Belt tracking",
        "A belt that runs to one side needs the idlers adjusted on the side where the belt first touches: move the idler end forward in the direction of travel. Adjust a little at a time.",
        "conveyor belt running off to one side",
    ),
    (
        "Belt tension",
        "Too low belt tension lets the drive pulley slip; too high overloads bearings and splices. Set tension with the take-up so the belt does not slip at full load.",
        "conveyor pulley slipping belt",
    ),
    (
        "Conveyor belt splice",
        "Inspect vulcanised belt splices for separation and mechanical splices for loose fasteners. A failing splice will tear the belt along its width.",
        "belt splice check",
    ),
    (
        "Idler failure",
        "Seized idlers wear flats into the belt and can start fires. Listen for noisy idlers and use a thermal camera to find hot ones on long conveyors.",
        "conveyor roller seized hot",
    ),
    (
        "Belt scraper",
        "A worn belt scraper lets material carry back and build up on return idlers. Adjust the scraper tension weekly and replace blades when worn to the line.",
        "material sticking to return belt",
    ),
    (
        "Conveyor pull-wire",
        "The pull-wire emergency stop along a conveyor must be tested monthly at several points. Check the wire tension so the switch trips when the wire is pulled or broken.",
        "conveyor rope switch test",
    ),
    (
        "Roller chain lubrication",
        "Lubricate roller chains where the links flex, on the slack side, so the oil reaches the pins and bushings. Replace the chain when it is stretched more than 3 percent.",
        "chain stretch replace percent",
    ),
    (
        "Sprocket wear",
        "Hooked sprocket teeth mean the sprocket is worn. Replace chain and sprockets together; a new chain on worn sprockets wears out quickly.",
        "sprocket teeth hooked",
    ),
    (
        "Screw conveyor",
        "A screw conveyor overloads its drive if the trough fills above the design level. Check the hanger bearings and keep the inlet feed within rating.",
        "auger conveyor motor overloading",
    ),
    (
        "Bucket elevator",
        "Bucket elevators need the belt or chain tension checked, the buckets inspected, and the backstop tested. Material build-up at the boot causes overload.",
        "bucket elevator boot blocked",
    ),
    # HVAC and chillers
    (
        "Chiller low refrigerant",
        "A chiller low suction pressure trip with high superheat points to low refrigerant charge. Find and repair the leak before recharging, and record the quantity added.",
        "chiller low pressure trip superheat",
    ),
    (
        "Cooling tower water treatment",
        "Cooling tower water must be treated against scale, corrosion and legionella. Test biocide levels weekly and keep blowdown to control conductivity.",
        "cooling tower legionella treatment",
    ),
    (
        "Air handling unit filters",
        "Change AHU filters when the pressure drop reaches the final value on the filter label. Dirty filters reduce airflow and increase fan energy.",
        "AHU filter pressure drop",
    ),
    (
        "Fan belt tension",
        "V-belts on fans should deflect about 1.5 percent of the span under the test force. Loose belts squeal and slip; over-tight belts overload the bearings.",
        "fan belt squealing",
    ),
    (
        "Condenser cleaning",
        "A dirty chiller condenser raises head pressure and power use. Clean air-cooled condensers with low pressure water from the inside out, and brush water-cooled condenser tubes yearly.",
        "chiller high head pressure",
    ),
    (
        "Compressor oil in chiller",
        "Check the oil level in the chiller compressor sight glass while running. Foaming oil shows refrigerant dilution, often after a long standstill without crankcase heating.",
        "chiller compressor oil foaming",
    ),
    (
        "Heat exchanger fouling",
        "Fouling in a plate heat exchanger shows as a rising pressure drop and falling heat transfer. Clean in place with a suitable chemical or open and clean the plates.",
        "plate heat exchanger dp rising",
    ),
    (
        "Damper actuator",
        "A damper actuator that does not move may have lost its control signal or its supply. Check the 0 to 10 V signal at the actuator and the mechanical linkage.",
        "damper not moving 0-10v",
    ),
    (
        "Refrigerant leak check",
        "Leak-check refrigeration systems at the interval set by the F-gas rules, based on the charge in CO2 equivalent. Record every check in the equipment log.",
        "fgas leak check how often",
    ),
    (
        "Humidifier maintenance",
        "Steam humidifiers build scale in the cylinder. Replace the cylinder when the humidifier signals end of life, and check the drain.",
        "humidifier cylinder replace",
    ),
    # Boilers and steam
    (
        "Steam trap testing",
        "Test steam traps with an ultrasonic detector or a thermal camera. A trap that blows steam continuously wastes energy; a cold trap is blocked and floods the equipment with condensate.",
        "steam trap blowing through",
    ),
    (
        "Boiler water level",
        "Test low water cutouts on steam boilers daily by blowing down the level column. The burner must stop when the water reaches the low level.",
        "boiler low water test",
    ),
    (
        "Boiler blowdown",
        "Bottom blowdown removes sludge and surface blowdown controls dissolved solids. Keep total dissolved solids below the manufacturer's limit to avoid foaming and carry-over.",
        "boiler TDS blowdown",
    ),
    (
        "Water hammer in steam lines",
        "Water hammer comes from condensate lying in steam lines. Warm up lines slowly, fit drain pockets and traps at low points, and slope lines in the direction of flow.",
        "banging in steam pipe",
    ),
    (
        "Burner flame failure",
        "A burner that locks out on flame failure may have a dirty flame sensor, a faulty ignition electrode or a gas pressure problem. Clean the sensor before replacing parts.",
        "boiler lockout flame failure",
    ),
    (
        "Safety valve on boiler",
        "Boiler safety valves must lift at the set pressure. Test them as required by local rules and never gag or adjust them without authorisation.",
        "boiler safety valve test",
    ),
    (
        "Feedwater pump",
        "Boiler feedwater pumps handle hot water close to boiling and need enough NPSH. Keep the deaerator level and temperature stable to avoid cavitation.",
        "feed pump cavitating deaerator",
    ),
    (
        "Condensate return",
        "Return as much condensate as possible: it is hot, treated water. Contaminated condensate must be dumped to avoid damaging the boiler.",
        "condensate return contaminated",
    ),
    (
        "Steam leak repair",
        "Repair steam leaks promptly: a 3 mm hole at 7 bar loses several tonnes of steam a year. Never tighten flange bolts on a live steam line without a permit.",
        "steam leak small hole cost",
    ),
    (
        "Pressure reducing valve",
        "A steam pressure reducing valve that hunts may be oversized or have a dirty pilot. Fit a strainer upstream and a separator to keep the valve clean.",
        "steam PRV hunting",
    ),
    # Valves and actuators
    (
        "Control valve stroking",
        "Stroke-test control valves during shutdowns: command 0, 25, 50, 75 and 100 percent and check the position feedback. Hysteresis above 1 percent points to friction or a worn positioner.",
        "control valve stroke test",
    ),
    (
        "Valve packing leak",
        "Leaking valve stem packing can often be stopped by tightening the gland nuts evenly. If that fails, the packing must be replaced with the valve isolated.",
        "valve stem leaking",
    ),
    (
        "Actuator air supply",
        "Pneumatic valve actuators need clean, dry air at the pressure on the nameplate. A sluggish actuator often has a blocked filter regulator.",
        "pneumatic actuator slow",
    ),
    (
        "Butterfly valve seat",
        "A butterfly valve that passes when closed has a damaged seat or a misadjusted end stop. Check the limit stop before changing the valve.",
        "butterfly valve passing",
    ),
    (
        "Check valve slam",
        "A check valve that slams shut causes pressure surges. Replace it with a fast-closing or damped check valve on pump discharges.",
        "non return valve slamming",
    ),
    (
        "Safety relief valve",
        "Pressure relief valves must be removed and bench-tested at the interval set by the inspection plan. Record set pressure, reseat pressure and condition.",
        "PRV bench test",
    ),
    (
        "Electric actuator torque trip",
        "An electric valve actuator that trips on torque may have a stuck valve or wrong torque setting. Check the valve turns freely by hand.",
        "MOV torque trip",
    ),
    (
        "Ball valve operation",
        "Quarter-turn ball valves should be operated regularly; valves that sit in one position for years may seize.",
        "ball valve seized",
    ),
    (
        "Valve positioner calibration",
        "Calibrate a smart positioner with its auto-calibration routine after actuator maintenance. The positioner measures the end positions and tunes itself.",
        "positioner auto calibration",
    ),
    (
        "Isolation valves for maintenance",
        "Use double block and bleed isolation for hazardous fluids: two closed valves with a vent between them.",
        "double block and bleed",
    ),
    # Lubrication
    (
        "Lubrication route",
        "A lubrication route lists each point, lubricant, quantity and interval. Tag each grease nipple with the grease type and quantity.",
        "lube route sheet",
    ),
    (
        "Oil analysis",
        "Oil analysis measures viscosity, water, wear metals and particle counts. Trend results over time rather than judging one sample.",
        "oil analysis results trend",
    ),
    (
        "Centralised lubrication",
        "Automatic lubrication systems deliver small amounts of grease often. Check the pump reservoir, the distributor blocks and each line for blockage.",
        "auto lube system blocked line",
    ),
    (
        "Grease gun calibration",
        "Calibrate grease guns: count the strokes needed to dispense 10 g. Different guns give very different amounts per stroke.",
        "grams per stroke grease gun",
    ),
    (
        "Storage of lubricants",
        "Store lubricants indoors, sealed, and label them. Use dedicated containers for each oil to prevent cross-contamination.",
        "oil storage room rules",
    ),
    (
        "Oil level sight glass",
        "Check oil level in sight glasses with the machine stopped unless the manual says otherwise. Constant level oilers should be set at the centre of the lowest ball.",
        "constant level oiler setting",
    ),
    (
        "Food grade lubricants",
        "Use NSF H1 lubricants wherever incidental food contact is possible.",
        "food safe grease H1",
    ),
    (
        "Open gear lubrication",
        "Open gears on mills and kilns use special adhesive lubricants sprayed automatically. Check the spray pattern covers the full face width.",
        "open gear spray pattern",
    ),
    (
        "Wire rope lubrication",
        "Lubricate wire ropes with a penetrating lubricant. Inspect for broken wires and corrosion.",
        "crane wire rope lube",
    ),
    (
        "Linear guide lubrication",
        "Linear guides need grease or oil at the interval in the manufacturer's data, often every 100 km of travel.",
        "linear rail how often grease",
    ),
    # Safety and LOTO
    (
        "Lockout tagout procedure",
        "Before maintenance, shut down the machine, isolate every energy source, lock each isolator with a personal lock, release stored energy, and try to start the machine to verify isolation.",
        "LOTO steps",
    ),
    (
        "Stored energy",
        "Stored energy includes springs, raised loads, compressed air, hydraulic accumulators and capacitors. Release or block it before work.",
        "stored energy before work",
    ),
    (
        "Confined space entry",
        "Enter tanks and vessels only with a permit, gas testing, ventilation and a standby person.",
        "tank entry permit",
    ),
    (
        "Hot work permit",
        "Welding or grinding near flammable material needs a hot work permit, a fire watch and removal of combustibles.",
        "welding permit fire watch",
    ),
    (
        "Working at height",
        "Use fall protection whenever work is done above 2 m and no guardrail is fitted: a full body harness attached to an anchor point rated for the load, checked before each use. Ladders are for access and short tasks only.",
        "harness needed above what height",
    ),
    (
        "Arc flash protection",
        "Work on energised switchgear only when it cannot be done dead, with a permit, arc-rated clothing and face shield matching the incident energy on the panel label, and insulated tools.",
        "arc flash PPE category panel",
    ),
    (
        "Machine guarding after maintenance",
        "Refit every guard and test every interlock before handing a machine back to production. A guard left off after maintenance is one of the most common causes of hand injuries.",
        "guard removed during repair",
    ),
    (
        "Chemical handling in maintenance",
        "Read the safety data sheet before using cleaning agents, solvents or water treatment chemicals. It lists the gloves, eye protection and ventilation needed, and what to do after a splash.",
        "SDS before using degreaser",
    ),
    (
        "Noise protection",
        "Hearing protection is required in areas above 85 dB(A). Compressor rooms, steam vents and grinding often exceed it; use earplugs or muffs rated for the noise level.",
        "ear defenders compressor room",
    ),
    (
        "Verifying isolation",
        "After locking out, test for absence of voltage with a voltage tester that you prove on a known live source before and after the test. Only then touch the conductors.",
        "test before touch dead check",
    ),
    # Vibration analysis and condition monitoring
    (
        "Vibration severity limits",
        "Judge overall vibration velocity against ISO 10816: for medium machines on rigid foundations, up to 2.8 mm/s RMS is good, 2.8 to 7.1 mm/s calls for planned attention, and above 7.1 mm/s is unacceptable.",
        "vibration 4.5 mm/s ok?",
    ),
    (
        "Unbalance diagnosis",
        "Unbalance shows as a high peak at one times running speed in the radial direction, with the phase steady and about 90 degrees between horizontal and vertical readings. Clean the rotor before balancing it.",
        "high 1x radial fan vibration",
    ),
    (
        "Misalignment diagnosis",
        "Misalignment shows as a high peak at twice running speed and high axial vibration, with about 180 degrees phase difference across the coupling.",
        "2x peak axial across coupling",
    ),
    (
        "Mechanical looseness",
        "Looseness shows as many harmonics of running speed, sometimes with half harmonics. Check hold-down bolts, cracked baseplates and worn bearing fits.",
        "lots of harmonics in spectrum",
    ),
    (
        "Infrared thermography",
        "Thermal cameras find loose electrical connections, overloaded fuses, hot bearings and failed steam traps. Scan electrical panels under at least 40 percent load.",
        "thermal imaging panel survey load",
    ),
    (
        "Airborne ultrasound",
        "Ultrasound detectors pick up friction in bearings before vibration rises, and are also used for air leaks and electrical discharge. Use them to grease bearings until the noise drops.",
        "ultrasonic greasing bearing",
    ),
    (
        "Motor current signature analysis",
        "Motor current signature analysis finds broken rotor bars as sidebands at the pole pass frequency around the supply frequency in the current spectrum.",
        "sidebands around 50 Hz in motor current",
    ),
    (
        "Route-based vibration monitoring",
        "Collect vibration on a fixed route monthly for critical machines and quarterly for others, at the same points, marked on the machine, and at similar load.",
        "how often vibration route",
    ),
    (
        "Online condition monitoring",
        "Fit permanent wireless vibration and temperature sensors on critical machines that are hard to reach or fail quickly; they send trends and alarms to the maintenance system.",
        "wireless sensors on pumps",
    ),
    (
        "Trend alarm limits",
        "Set vibration alarms relative to each machine's own baseline: an alert at 2.5 times the baseline and a danger level at 6 times, rather than one limit for every machine.",
        "alarm relative to baseline",
    ),
]
